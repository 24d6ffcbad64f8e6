"""Agent activity report: what agents changed, what was gated, who approved (issue 18)."""
