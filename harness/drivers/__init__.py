"""Python drivers for the services' control and admin APIs: what steps (and users' scripts) call."""
