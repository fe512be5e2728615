package io.minference.app;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Prompt lengths written as a comma-separated list, each a whole number of tokens with an optional k (1024). */
final class TokenLengths implements ITypeConverter<List<Integer>> {

    @Override
    public List<Integer> convert(String value) {
        List<Integer> lengths = new ArrayList<>();
        for (String part : value.split(",", -1)) {
            lengths.add(parseOne(part.trim()));
        }
        return List.copyOf(lengths);
    }

    /** One length, as --length takes it. */
    static final class One implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return parseOne(value.trim());
        }
    }

    static int parseOne(String text) {
        String digits = text.toLowerCase(Locale.ROOT);
        long unit = 1;
        if (digits.endsWith("k")) {
            unit = 1024;
            digits = digits.substring(0, digits.length() - 1);
        }
        if (!digits.matches("\\d{1,9}")) {
            throw new TypeConversionException("'" + text + "' is not a length: use a whole number of tokens,"
                    + " optionally with a k suffix (k = 1024), e.g. 4096 or 32k");
        }
        long tokens = Long.parseLong(digits) * unit;
        if (tokens < 2 || tokens > Integer.MAX_VALUE) {
            throw new TypeConversionException("length " + text + " is out of range: from 2 to " + Integer.MAX_VALUE
                    + " tokens");
        }
        return (int) tokens;
    }
}
