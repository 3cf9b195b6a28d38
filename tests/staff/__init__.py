"""Tests of the staff tools: preview, report, masking, and the browser walk-through."""
