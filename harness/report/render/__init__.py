"""Drawing: seaborn figures as PNG data URIs (:mod:`.figures`) and the page itself (:mod:`.page`)."""
