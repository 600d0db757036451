"""Members of schools, signing in and out, and who the caller is."""
