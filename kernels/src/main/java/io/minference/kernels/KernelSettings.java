package io.minference.kernels;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Kernel choices named by Java system properties ({@code -Dminference.attention.kernel=mma-sync}): each choice has
 * one spelling, matched whatever its case and surrounding blanks, and anything else is an error that names the
 * property, its spellings and the value it got. The enums of the prefill's variants and the decode's tunings read
 * their properties through here.
 */
public final class KernelSettings {
    private KernelSettings() {
    }

    /**
     * The choice the system property {@code property} names, {@code fallback} when it is unset.
     *
     * @param choices  every choice, in the order the error message lists them
     * @param spelling each choice's spelling (lower case)
     */
    public static <T> T configured(String property, T fallback, List<T> choices, Function<T, String> spelling) {
        String value = System.getProperty(property);
        return value == null ? fallback : parse(property, value, choices, spelling);
    }

    /** The choice spelled {@code value}; anything else is an error naming {@code property} and the spellings. */
    public static <T> T parse(String property, String value, List<T> choices, Function<T, String> spelling) {
        String wanted = value.trim().toLowerCase(Locale.ROOT);
        for (T choice : choices) {
            if (spelling.apply(choice).equals(wanted)) return choice;
        }
        List<String> spellings = choices.stream().map(spelling).toList();
        String alternatives = String.join(", ", spellings.subList(0, spellings.size() - 1)) + " or "
                + spellings.getLast();
        throw new IllegalArgumentException(property + " must be " + alternatives + ", not '" + value + "'");
    }
}
