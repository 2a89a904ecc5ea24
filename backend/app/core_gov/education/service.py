"""Education: a lesson belongs to an existing course (else 422) and its `order` is unique within
the course (409 duplicate_order); lessons are listed by course, then `order`. A learner holds at
most one active enrollment per course (409 duplicate_enrollment; learner names compare
case-insensitively); an archived course takes no enrollments (409 course_archived). Progress
records one lesson of the enrollment's course (another course's lesson is 422; a repeat changes
nothing): percent = completed lessons / the course's lessons x 100, rounded half-up to one decimal;
the call that completes the last lesson sets completed_at and status `completed`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence

from ..errors import Conflict, InvalidField, require_start, require_transition
from ..storage import Storage, matches, select
from . import store
from .schemas import (
    COURSE_STARTS, ENROLLMENT_STARTS, Course, CourseCreate, CourseStatus, CourseUpdate, Enrollment, EnrollmentCreate, EnrollmentStatus, EnrollmentUpdate,
    Lesson, LessonCreate, LessonUpdate, ProgressInput,
)

# Course status moves: a course never goes back to draft once it has been offered.
COURSE_MOVES: dict[CourseStatus, set[CourseStatus]] = {
    CourseStatus.draft: {CourseStatus.active, CourseStatus.archived},
    CourseStatus.active: {CourseStatus.archived},
    CourseStatus.archived: {CourseStatus.active},
}
# Enrollment status moves by PATCH: only withdrawing; `completed` comes from progress.
ENROLLMENT_MOVES: dict[EnrollmentStatus, set[EnrollmentStatus]] = {
    EnrollmentStatus.active: {EnrollmentStatus.withdrawn},
    EnrollmentStatus.completed: set(),
    EnrollmentStatus.withdrawn: set(),
}


def _percent(done: int, total: int) -> float:
    if total == 0:
        return 0.0
    return float((Decimal(done * 100) / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# ------------------------------------------------------------------------------ courses


def list_courses(db: Storage, *, status: str | None = None) -> Sequence[Course]:
    return select(db.list(store.courses), {"status": status})


def get_course(db: Storage, course_id: str) -> Course:
    return db.get(store.courses, course_id)


def create_course(db: Storage, data: CourseCreate) -> Course:
    status = require_start("course", COURSE_STARTS, data.status)
    with db.transaction("education") as tx:
        return tx.add(store.courses, {**data.model_dump(), "status": status})


def update_course(db: Storage, course_id: str, data: CourseUpdate, *, expected_version: int | None = None) -> Course:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("education") as tx:
        old = tx.get(store.courses, course_id)
        audit = require_transition("course", COURSE_MOVES, old.status, changes.get("status", old.status))
        return tx.update(store.courses, old, changes, expected_version=expected_version, audit=audit)


# ------------------------------------------------------------------------------ lessons


def _ordered(db: Storage, lessons: list[Lesson]) -> list[Lesson]:
    position = {c.id: i for i, c in enumerate(db.list(store.courses))}
    return sorted(lessons, key=lambda l: (position.get(l.course_id, len(position)), l.order))


def list_lessons(db: Storage, *, course_id: str | None = None) -> list[Lesson]:
    return _ordered(db, [l for l in db.list(store.lessons) if matches(l, {"course_id": course_id})])


def course_lessons(db: Storage, course_id: str) -> list[Lesson]:
    db.get(store.courses, course_id)
    return list_lessons(db, course_id=course_id)


def get_lesson(db: Storage, lesson_id: str) -> Lesson:
    return db.get(store.lessons, lesson_id)


def _check_order(tx, course_id: str, order: int, *, lesson_id: str | None = None) -> None:
    for other in tx.list(store.lessons):
        if other.id != lesson_id and other.course_id == course_id and other.order == order:
            raise Conflict(
                "duplicate_order", f"course {course_id} already has lesson {order} ({other.id})",
                course_id=course_id, order=order, lesson_id=other.id,
            )


def create_lesson(db: Storage, data: LessonCreate) -> Lesson:
    with db.transaction("education") as tx:
        if tx.find(store.courses, data.course_id) is None:
            raise InvalidField(("body", "course_id"), f"no course {data.course_id}")
        _check_order(tx, data.course_id, data.order)
        return tx.add(store.lessons, data)


def update_lesson(db: Storage, lesson_id: str, data: LessonUpdate, *, expected_version: int | None = None) -> Lesson:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("education") as tx:
        old = tx.get(store.lessons, lesson_id)
        if "order" in changes:
            _check_order(tx, old.course_id, changes["order"], lesson_id=old.id)
        return tx.update(store.lessons, old, changes, expected_version=expected_version)


# ------------------------------------------------------------------------------ enrollments


def list_enrollments(db: Storage, *, learner: str | None = None, course_id: str | None = None, status: str | None = None) -> list[Enrollment]:
    who = learner.strip().casefold() if learner else None
    return [
        e for e in db.list(store.enrollments)
        if matches(e, {"course_id": course_id, "status": status}) and (who is None or e.learner.casefold() == who)
    ]


def get_enrollment(db: Storage, enrollment_id: str) -> Enrollment:
    return db.get(store.enrollments, enrollment_id)


def enroll(db: Storage, data: EnrollmentCreate) -> Enrollment:
    status = require_start("enrollment", ENROLLMENT_STARTS, data.status)
    with db.transaction("education") as tx:
        course = tx.find(store.courses, data.course_id)
        if course is None:
            raise InvalidField(("body", "course_id"), f"no course {data.course_id}")
        if course.status is CourseStatus.archived:
            raise Conflict("course_archived", f"course {course.id} is archived and takes no enrollments", course_id=course.id)
        who = data.learner.casefold()
        for other in tx.list(store.enrollments):
            if other.course_id == course.id and other.learner.casefold() == who and other.status is EnrollmentStatus.active:
                raise Conflict(
                    "duplicate_enrollment", f"{other.learner} already has an active enrollment in course {course.id} ({other.id})",
                    enrollment_id=other.id, learner=other.learner, course_id=course.id,
                )
        return tx.add(store.enrollments, {**data.model_dump(), "status": status})


def update_enrollment(db: Storage, enrollment_id: str, data: EnrollmentUpdate, *, expected_version: int | None = None) -> Enrollment:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("education") as tx:
        old = tx.get(store.enrollments, enrollment_id)
        new_status = changes.get("status", old.status)
        if new_status != old.status and new_status not in ENROLLMENT_MOVES[old.status]:
            raise Conflict(
                "invalid_transition",
                f"an enrollment can only be withdrawn while active (completion comes from progress); it is {old.status.value}",
                current=old.status.value, requested=new_status.value,
            )
        return tx.update(store.enrollments, old, changes, expected_version=expected_version, audit="transition")


def record_progress(db: Storage, enrollment_id: str, data: ProgressInput) -> Enrollment:
    with db.transaction("education") as tx:
        enrollment = tx.get(store.enrollments, enrollment_id)
        if enrollment.status is EnrollmentStatus.withdrawn:
            raise Conflict("enrollment_withdrawn", f"enrollment {enrollment.id} was withdrawn; enroll again", enrollment_id=enrollment.id)
        lesson = tx.find(store.lessons, data.lesson_id)
        if lesson is None:
            raise InvalidField(("body", "lesson_id"), f"no lesson {data.lesson_id}")
        if lesson.course_id != enrollment.course_id:
            raise InvalidField(("body", "lesson_id"), f"lesson {lesson.id} belongs to course {lesson.course_id}, not {enrollment.course_id}")
        if lesson.id in enrollment.completed_lesson_ids:
            return enrollment  # idempotent: already recorded, nothing written
        done = [*enrollment.completed_lesson_ids, lesson.id]
        course_lesson_ids = {l.id for l in tx.list(store.lessons) if l.course_id == enrollment.course_id}
        finished = len(course_lesson_ids & set(done))
        changes: dict = {"completed_lesson_ids": done, "percent_complete": _percent(finished, len(course_lesson_ids))}
        if finished == len(course_lesson_ids) and enrollment.completed_at is None:
            changes.update(completed_at=tx.now, status=EnrollmentStatus.completed)
        return tx.update(store.enrollments, enrollment, changes, audit="action")
