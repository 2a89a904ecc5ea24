# The dashboard keeps no files: every number on it comes from another module's JSON endpoint.
