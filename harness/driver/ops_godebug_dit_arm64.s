//go:build gc && go1.24

#include "textflag.h"

// func ditFeature() uint64
TEXT ·ditFeature(SB),NOSPLIT,$0-8
	MRS	ID_AA64PFR0_EL1, R0
	UBFX	$48, R0, $4, R0
	MOVD	R0, ret+0(FP)
	RET

// func ditEnabled() bool: PSTATE.DIT is bit 24 of the value MRS DIT reads.
TEXT ·ditEnabled(SB),NOSPLIT,$0-1
	MRS	DIT, R0
	UBFX	$24, R0, $1, R0
	MOVB	R0, ret+0(FP)
	RET
