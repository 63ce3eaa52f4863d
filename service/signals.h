// Termination signals, received synchronously: the main thread blocks SIGTERM and SIGINT before
// any other thread starts (threads inherit the mask) and later waits for one with sigwait, so no
// async-signal-safety rules constrain what happens next.
#ifndef SESSIOND_SERVICE_SIGNALS_H_
#define SESSIOND_SERVICE_SIGNALS_H_

namespace sessiond::service {

// Blocks SIGTERM and SIGINT in the calling thread. Call first thing in main.
void BlockTerminationSignals();

// Waits until SIGTERM or SIGINT arrives and returns its number.
int WaitForTerminationSignal();

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_SIGNALS_H_
