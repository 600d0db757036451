"""Resources: what schools share, their stored versions, uploads and downloads."""
