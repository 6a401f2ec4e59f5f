"""The web console at /console: static pages (console/static) that call the port's own AWS APIs
with the SDKs' JSON, a sign-in that turns a key of the credentials file into a session cookie,
and a live tail of a table's stream pushed as Server-Sent Events."""
