/* ready.h - a role tells the master it is up. Owner: src/lib.
 * The master hands each role the write end of a pipe as $SEALGATE_READY_FD (src/master/master.c);
 * the role writes one byte once it has opened everything it needs, dropped its privileges and
 * can do its work. The master reports the service ready (sd_notify READY=1) only when every
 * role did. Started by hand (no variable) this does nothing. */
#ifndef SG_READY_H
#define SG_READY_H

#define SG_READY_ENV "SEALGATE_READY_FD"

/* Writes the byte once and closes the descriptor; later calls do nothing. */
void sg_ready_tell(void);

#endif
