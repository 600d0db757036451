"""The exchange's pages: server-rendered HTML from the same app, through the same
services and the same policy as the API, in Kyrgyz, Russian and English."""
