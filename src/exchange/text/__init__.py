"""The text inside uploaded files, for the search index: read within hard caps (output
size, expanded bytes, archive entries, time, memory) in a child process, by a job queued
with each new version."""
