from __future__ import annotations

from enum import Enum

from pydantic import Field

from ..fields import Name, Text, starts_in
from ..storage import Input, Record, UtcDatetime


class CourseStatus(str, Enum):
    draft = "draft"
    active = "active"
    archived = "archived"


class EnrollmentStatus(str, Enum):
    active = "active"
    completed = "completed"
    withdrawn = "withdrawn"


COURSE_STARTS = (CourseStatus.draft, CourseStatus.active)  # a course may be offered as soon as it exists
ENROLLMENT_STARTS = (EnrollmentStatus.active,)


class CourseCreate(Input):
    title: Name
    description: Text | None = None
    status: CourseStatus | None = starts_in(COURSE_STARTS)

    model_config = {"json_schema_extra": {"examples": [{
        "title": "Wholesaling in Ontario", "description": "From lead to assignment, step by step", "status": "active",
    }]}}


class CourseUpdate(Input):
    title: Name = None
    description: Text | None = None
    status: CourseStatus = None


class Course(Record):
    title: str
    description: Text | None = None
    status: CourseStatus = CourseStatus.draft


class LessonCreate(Input):
    course_id: str
    order: int = Field(ge=1, description="Position in the course: unique per course")
    title: Name
    body: Text = ""

    model_config = {"json_schema_extra": {"examples": [{
        "course_id": "crs_0123456789ab", "order": 1, "title": "Finding motivated sellers",
        "body": "Driving for dollars, probate lists, tired landlords...",
    }]}}


class LessonUpdate(Input):
    order: int = Field(default=None, ge=1)
    title: Name = None
    body: Text = None


class Lesson(Record):
    course_id: str
    order: int
    title: str
    body: Text = ""


class EnrollmentCreate(Input):
    learner: Name
    course_id: str
    status: EnrollmentStatus | None = starts_in(ENROLLMENT_STARTS)

    model_config = {"json_schema_extra": {"examples": [{"learner": "Jordan Lee", "course_id": "crs_0123456789ab"}]}}


class EnrollmentUpdate(Input):
    status: EnrollmentStatus = Field(default=None, description="Only active -> withdrawn; completion comes from progress")


class Enrollment(Record):
    learner: str
    course_id: str
    status: EnrollmentStatus = EnrollmentStatus.active
    completed_lesson_ids: list[str] = []
    percent_complete: float = 0.0
    completed_at: UtcDatetime | None = None


class ProgressInput(Input):
    lesson_id: str

    model_config = {"json_schema_extra": {"examples": [{"lesson_id": "lsn_0123456789ab"}]}}
