/* lr-test-postgres.h: a throwaway PostgreSQL cluster for the control tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Debian's postgresql server binaries, run as an unprivileged user (nobody when the tests
 * run as root: initdb refuses root) in a temporary folder, listening on a Unix socket only.
 * One cluster per test program, started on first use and stopped at exit; the postmaster
 * dies with the test program if that aborts. Each lanrage-control gets a database of its
 * own.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LrTestPostgres LrTestPostgres;

/* The one role that must log in with a password (scram-sha-256); every other role is trusted
 * on the socket. The cluster does not create it: a test that needs it does. */
#define LR_TEST_POSTGRES_PASSWORD_ROLE "lanrage_password"

gboolean        lr_test_postgres_is_available   (char          **why_not);
LrTestPostgres *lr_test_postgres_get_default    (void);
char           *lr_test_postgres_create_database (LrTestPostgres *self);
void            lr_test_postgres_stop           (LrTestPostgres *self);
void            lr_test_postgres_start          (LrTestPostgres *self);

G_END_DECLS
