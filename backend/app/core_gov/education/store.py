from ..storage import Collection
from .schemas import Course, Enrollment, Lesson

courses = Collection("education", "courses", Course, id_prefix="crs")
lessons = Collection("education", "lessons", Lesson, id_prefix="lsn")
enrollments = Collection("education", "enrollments", Enrollment, id_prefix="enr")
