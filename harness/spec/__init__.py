"""What is run: the training spec (:mod:`.train_spec`), the plug-in contract (:mod:`.contract`),
the registry that discovers engines and implementations under ``tasks/`` (:mod:`.registry`),
suites (:mod:`.suites`), the plan (:mod:`.plan`) and the fairness policy (:mod:`.policy`)."""
