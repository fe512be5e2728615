package io.minference.kernels.flash;

import io.minference.kernels.KernelSettings;
import io.minference.ptx.PtxTarget;

import java.util.List;

/**
 * Which prefill kernel family {@link FlashAttention} runs, from the setting {@value #PROPERTY} (a Java system
 * property: {@code -Dminference.attention.kernel=mma-sync}). {@code auto} (the default) takes the Hopper kernel
 * ({@link HopperFlashPrefill}: wgmma, TMA, warp specialization) on sm_90 devices and the mma.sync kernel
 * ({@link FlashPrefill}) on sm_80 to sm_89; {@code mma-sync} forces the latter everywhere, for comparison and as
 * a fallback; {@code hopper} insists on the former and fails on an older device.
 */
public enum PrefillKernel {
    AUTO("auto"), MMA_SYNC("mma-sync"), HOPPER("hopper");

    /** The system property that chooses. */
    public static final String PROPERTY = "minference.attention.kernel";

    private final String setting;

    PrefillKernel(String setting) {
        this.setting = setting;
    }

    /** The setting's spelling. */
    public String setting() {
        return setting;
    }

    /** The family the system property names ({@link #AUTO} when unset); a misspelling is an error naming it. */
    public static PrefillKernel configured() {
        return KernelSettings.configured(PROPERTY, AUTO, List.of(values()), PrefillKernel::setting);
    }

    /** The family named {@code value}: {@code auto}, {@code mma-sync} or {@code hopper}. */
    public static PrefillKernel parse(String value) {
        return KernelSettings.parse(PROPERTY, value, List.of(values()), PrefillKernel::setting);
    }

    /** Whether the Hopper kernel runs on a device of {@code target}; {@link #HOPPER} on an older one is an error. */
    public boolean usesHopper(PtxTarget target) {
        return switch (this) {
            case AUTO -> target == PtxTarget.SM_90A;
            case MMA_SYNC -> false;
            case HOPPER -> {
                if (target != PtxTarget.SM_90A) {
                    throw new IllegalStateException(PROPERTY + "=hopper needs an sm_90 device (wgmma, TMA); this one "
                            + "takes " + target.arch() + " kernels: use auto or mma-sync");
                }
                yield true;
            }
        };
    }
}
