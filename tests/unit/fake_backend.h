/* fake_backend.h: knobs of the unit tests' fake backend. */
#ifndef CHYVE_FAKE_BACKEND_H
#define CHYVE_FAKE_BACKEND_H

#include <stdint.h>

extern uint64_t fake_pt_root;                /* what backend_vcpu_pt_root() reports */
extern int fake_kicks;                       /* how many times backend_vcpu_kick() ran */
extern struct backend_vcpu *const fake_vcpu; /* a vCPU handle to pass to the core */

#endif
