// `sessiond health --addr=HOST:PORT [--service=NAME] [--timeout=2s]`: asks a server's
// grpc.health.v1 service for the status of NAME ("" for the whole server), prints it, and exits 0
// if it is SERVING, 1 otherwise (no answer, NOT_SERVING, unknown service), 2 for a bad command
// line. For exec probes and `helm test` where native gRPC probes are not available.
#ifndef SESSIOND_SERVICE_HEALTH_COMMAND_H_
#define SESSIOND_SERVICE_HEALTH_COMMAND_H_

namespace sessiond::service {

// Runs the subcommand; argv[0] is "health". Returns the process exit code.
int RunHealthCommand(int argc, char** argv);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_HEALTH_COMMAND_H_
