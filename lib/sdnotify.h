/* SPDX-License-Identifier: MIT */
/*
 * The service manager's notification protocol (sd_notify(3)), without
 * libsystemd: one datagram of "KEY=VALUE\n" lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace).
 * Outside systemd (no $NOTIFY_SOCKET) every call does nothing.
 */
#ifndef CGFW_SDNOTIFY_H
#define CGFW_SDNOTIFY_H

#include <stdint.h>
#include <sys/un.h>

/*
 * Reads $NOTIFY_SOCKET and opens the socket; call once, early (the socket
 * stays open, so sending needs no privilege later).  0 when there is no
 * service manager, 1 when there is, -errno on a bad address or no socket.
 */
int sdnotify_init(void);
/* Sends msg ("READY=1\nSTATUS=..."): 1 sent, 0 no manager, -errno. */
int sdnotify_send(const char *msg);
/*
 * The watchdog interval in microseconds from $WATCHDOG_USEC (when
 * $WATCHDOG_PID is unset or ours), else 0.
 */
uint64_t sdnotify_watchdog_usec(void);
/* The address in $NOTIFY_SOCKET form into a sockaddr_un: its length, or -errno. */
int sdnotify_addr(const char *s, struct sockaddr_un *sun);
/*
 * NAME.service, NAME.slice or NAME.scope of systemd's unit-name characters,
 * never starting with '-' (so it cannot read as an option): 1, else 0.
 */
int sd_unit_name_valid(const char *s);

#endif
