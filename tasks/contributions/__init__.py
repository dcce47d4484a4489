"""An agency's contribution: the working copy, submission, pictures, content, Word import."""
