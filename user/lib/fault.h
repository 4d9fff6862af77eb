/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef IG_FAULT_H
#define IG_FAULT_H

/*
 * Fault injection, for tests that prove a failure rolls everything back.
 * Returns nonzero when the test build was asked to fail at `site` (a short
 * name, e.g. "nft_apply"), else 0. The shipped library always answers 0:
 * its definition (fault.c) is weak, and only the test build's CLI,
 * build/tests/imapguard-faults, links the override (tests/fault/fault_env.c)
 * that reads IMAPGUARD_FAULT=SITE from the environment. Nothing in the
 * binaries that `make install` ships can be switched by the environment.
 */
int ig_fault(const char *site);

#endif /* IG_FAULT_H */
