"""MiniCRM core backend: a stream-processing pipeline with a thin HTTP edge."""
