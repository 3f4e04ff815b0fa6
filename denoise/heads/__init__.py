"""Task heads on a backbone's hidden states: sequence classification, token tagging, extractive span QA."""
