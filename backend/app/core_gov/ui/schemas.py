"""The dashboard answers HTML and reads the other modules' JSON endpoints: no models of its own."""
