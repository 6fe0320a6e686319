"""The HTML report: :mod:`.data` (records -> frames and statistics), :mod:`.sections` (one module
per section of the page), :mod:`.render` (figures and the page); :func:`.build.build_report`."""
