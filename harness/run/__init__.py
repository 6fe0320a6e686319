"""Running a plan: the runner (:mod:`.runner`), the worker processes (:mod:`.worker_client`, the
parent's side; :mod:`.worker`, the child), the phases of one run (:mod:`.measure`), the only
clock (:mod:`.timing`), the machine a record names (:mod:`.machine`), the machine calibration
(:mod:`.calibration`) and test-only fault injection (:mod:`.faults`)."""
