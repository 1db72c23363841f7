"""Running the service rather than serving tenants: Beat's cleanup and recovery (maintenance), operator
views across tenants (operators), readiness checks (health), shared metrics (metrics), the run command
(launcher) and the private redis-server it starts without REDIS_URL (embedded_redis)."""
