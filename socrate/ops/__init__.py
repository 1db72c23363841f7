"""Running the service rather than serving tenants: Beat's cleanup and recovery (maintenance), operator
views across tenants (operators), readiness checks (health) and the run command (launcher)."""
