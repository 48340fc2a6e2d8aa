// server/service_notify: tells the service manager (systemd, Type=notify) where `mailroom serve`
// stands, through sd_notify(3) from libsystemd.
//
//   notify_ready()      READY=1: every listener is bound and listening, privileges are dropped
//                       and the queue takes new mail (its backlog may still be being read back,
//                       queue/runtime.hpp), so a connection made now is answered (after a
//                       reload: the new configuration is in force).
//   notify_reloading()  RELOADING=1 (with MONOTONIC_USEC, as Type=notify-reload wants): a
//                       configuration reload has begun; call notify_ready() when it is done.
//   notify_stopping()   STOPPING=1: shutdown has begun (server/shutdown.hpp step 1).
//   notify_status(t)    STATUS=t: one line shown by `systemctl status`.
// Every call is a no-op when $NOTIFY_SOCKET is unset (a server started by hand or by a test), and
// a failure to notify is logged once at debug level and otherwise ignored: the service manager
// is an observer, never a reason to refuse mail.
// Never: unsets $NOTIFY_SOCKET (a later reload still notifies), blocks (a datagram send), or
// writes anything but single-line texts (a newline in a status would start a new assignment).
#pragma once

#include <string_view>

namespace mailroom::server {

void notify_ready();
void notify_reloading();
void notify_stopping();
void notify_status(std::string_view text);

}  // namespace mailroom::server
