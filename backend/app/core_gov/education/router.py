from __future__ import annotations

from fastapi import Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import (
    Course, CourseCreate, CourseStatus, CourseUpdate, Enrollment, EnrollmentCreate, EnrollmentStatus, EnrollmentUpdate,
    Lesson, LessonCreate, LessonUpdate, ProgressInput,
)

router = ModuleRouter(prefix="/education", tags=["education"])


# ------------------------------------------------------------------------------ courses


@router.post("/courses", status_code=201, summary="Add a course", responses=responses())
def create_course(db: StorageDep, body: CourseCreate) -> Course:
    return service.create_course(db, body)


@router.get("/courses", summary="List courses", responses=responses())
async def list_courses(db: StorageDep, response: Response, page: Page, status: CourseStatus | None = None) -> list[Course]:
    return paginate(response, service.list_courses(db, status=status), page)


@router.get("/courses/{course_id}", summary="Get a course", responses=responses(404))
async def get_course(db: StorageDep, course_id: str) -> Course:
    return one(service.get_course(db, course_id))


@router.patch("/courses/{course_id}", summary="Change a course or its status (If-Match)", responses=responses(404, 409, 412))
def update_course(db: StorageDep, response: Response, course_id: str, body: CourseUpdate, if_match: IfMatch = None) -> Course:
    """Status moves: draft -> active | archived, active -> archived, archived -> active; anything
    else (back to draft) is 409 `invalid_transition`."""
    return etag(response, service.update_course(db, course_id, body, expected_version=if_match))


@router.get("/courses/{course_id}/lessons", summary="A course's lessons, ordered by `order`", responses=responses(404))
async def list_course_lessons(db: StorageDep, response: Response, page: Page, course_id: str) -> list[Lesson]:
    return paginate(response, service.course_lessons(db, course_id), page)


# ------------------------------------------------------------------------------ lessons


@router.post("/lessons", status_code=201, summary="Add a lesson to a course", responses=responses(409))
def create_lesson(db: StorageDep, body: LessonCreate) -> Lesson:
    """The course must exist (422 on `course_id`); `order` is unique within the course
    (409 `duplicate_order`)."""
    return service.create_lesson(db, body)


@router.get("/lessons", summary="List lessons (by course, then `order`)", responses=responses())
async def list_lessons(db: StorageDep, response: Response, page: Page, course_id: str | None = None) -> list[Lesson]:
    return paginate(response, service.list_lessons(db, course_id=course_id), page)


@router.get("/lessons/{lesson_id}", summary="Get a lesson", responses=responses(404))
async def get_lesson(db: StorageDep, lesson_id: str) -> Lesson:
    return one(service.get_lesson(db, lesson_id))


@router.patch("/lessons/{lesson_id}", summary="Change a lesson (If-Match)", responses=responses(404, 409, 412))
def update_lesson(db: StorageDep, response: Response, lesson_id: str, body: LessonUpdate, if_match: IfMatch = None) -> Lesson:
    """A lesson stays in its course (`course_id` cannot change); a new `order` must be free (409 `duplicate_order`)."""
    return etag(response, service.update_lesson(db, lesson_id, body, expected_version=if_match))


# ------------------------------------------------------------------------------ enrollments


@router.post("/enrollments", status_code=201, summary="Enroll a learner in a course", responses=responses(409))
def enroll(db: StorageDep, body: EnrollmentCreate) -> Enrollment:
    """One active enrollment per learner and course (409 `duplicate_enrollment`; names compare
    case-insensitively); an archived course is 409 `course_archived`; an unknown course is 422."""
    return service.enroll(db, body)


@router.get("/enrollments", summary="List enrollments", responses=responses())
async def list_enrollments(
    db: StorageDep, response: Response, page: Page,
    learner: str | None = None, course_id: str | None = None, status: EnrollmentStatus | None = None,
) -> list[Enrollment]:
    return paginate(response, service.list_enrollments(db, learner=learner, course_id=course_id, status=status), page)


@router.get("/enrollments/{enrollment_id}", summary="Get an enrollment", responses=responses(404))
async def get_enrollment(db: StorageDep, enrollment_id: str) -> Enrollment:
    return one(service.get_enrollment(db, enrollment_id))


@router.patch("/enrollments/{enrollment_id}", summary="Withdraw an enrollment (If-Match)", responses=responses(404, 409, 412))
def update_enrollment(db: StorageDep, response: Response, enrollment_id: str, body: EnrollmentUpdate, if_match: IfMatch = None) -> Enrollment:
    """Only active -> withdrawn; a withdrawn or completed enrollment is final (409 `invalid_transition`)."""
    return etag(response, service.update_enrollment(db, enrollment_id, body, expected_version=if_match))


@router.post("/enrollments/{enrollment_id}/progress", summary="Mark a lesson done", responses=responses(404, 409))
def record_progress(db: StorageDep, response: Response, enrollment_id: str, body: ProgressInput) -> Enrollment:
    """Adds the lesson to `completed_lesson_ids` and recomputes `percent_complete` = completed /
    the course's lessons x 100 (one decimal, half-up). The last lesson sets `completed_at` and
    status `completed`. Marking a lesson again changes nothing; a lesson of another course is 422;
    a withdrawn enrollment is 409 `enrollment_withdrawn`."""
    return etag(response, service.record_progress(db, enrollment_id, body))
