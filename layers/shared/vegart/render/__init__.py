"""Rendering: from a decided spec to a checked, cached image.

``spec`` decides what an image is (and names it in the cache), ``service`` renders it through
the cache, the leases that share one render among identical requests, a backend and the image
check; ``backends`` are Segmind's API and a SageMaker endpoint, with the retries and the
secret that only they use.
"""
