package io.minference.ptx.dsl;

/**
 * Loads and stores in global and shared memory, scalar and vector (8 and 16 bytes). Vector accesses must be
 * naturally aligned (16-byte vectors on 16-byte addresses); PTX faults otherwise.
 */
public interface Memory extends Arithmetic {
    /** The address of element {@code index} of a global array of {@code elementBytes}-byte elements. */
    default Address element(U64 base, U32 index, int elementBytes) {
        return Address.global(pointer(base, index, elementBytes));
    }

    /** {@code base + index * elementBytes} as a new global pointer (a row start, a sub-array). */
    default U64 pointer(U64 base, U32 index, int elementBytes) {
        return add(base, mulWide(index, elementBytes).named("offset")).named("addr");
    }

    /** The address of element {@code index} of a shared array of {@code elementBytes}-byte elements. */
    default Address element(U32 sharedBase, U32 index, int elementBytes) {
        return Address.shared(mad(index, u32(elementBytes), sharedBase).named("saddr"));
    }

    private <R extends Reg> R load(Address at, R destination) {
        emitter().declare(destination);
        emitter().instruction("ld." + at.space().ptx() + "." + destination.type().ptx(), destination, at);
        return destination;
    }

    default F32 loadF32(Address at) {
        return load(at, new F32("ld"));
    }

    default U32 loadU32(Address at) {
        return load(at, new U32("ld"));
    }

    default S32 loadS32(Address at) {
        return load(at, new S32("ld"));
    }

    default U64 loadU64(Address at) {
        return load(at, new U64("ld"));
    }

    default B32 loadB32(Address at) {
        return load(at, new B32("ld"));
    }

    /** One 16-bit value (an f16 or bf16 element). */
    default B16 loadB16(Address at) {
        return load(at, new B16("ld"));
    }

    /** Two 16-bit floats from a 4-byte aligned address, as the packed register an mma A operand takes. */
    default <P extends PackedHalf2> P loadPair(HalfType<P> type, Address at) {
        return load(at, type.fresh("ld"));
    }

    /** Two floats from an 8-byte aligned address. */
    default F32[] loadF32x2(Address at) {
        return loadVector(at, new F32[] {new F32("ld"), new F32("ld")});
    }

    /** Four floats from a 16-byte aligned address. */
    default F32[] loadF32x4(Address at) {
        return loadVector(at, new F32[] {new F32("ld"), new F32("ld"), new F32("ld"), new F32("ld")});
    }

    /** Sixteen raw bytes from a 16-byte aligned address. */
    default B32[] loadB32x4(Address at) {
        return loadVector(at, new B32[] {new B32("ld"), new B32("ld"), new B32("ld"), new B32("ld")});
    }

    private <R extends Reg> R[] loadVector(Address at, R[] destinations) {
        for (R r : destinations) {
            emitter().declare(r);
        }
        emitter().instruction("ld." + at.space().ptx() + ".v" + destinations.length + "."
                + destinations[0].type().ptx(), destinations, at);
        return destinations;
    }

    default void store(Address at, Reg value) {
        if (value.type() == RegType.PRED) {
            throw new IllegalArgumentException("predicates cannot be stored; select a value first");
        }
        emitter().instruction("st." + at.space().ptx() + "." + value.type().ptx(), at, value);
    }

    /** Stores 2 or 4 values of one type as one vector access. */
    default void storeVector(Address at, Reg... values) {
        if (values.length != 2 && values.length != 4) {
            throw new IllegalArgumentException("vector stores take 2 or 4 values, got " + values.length);
        }
        for (Reg v : values) {
            if (v.type() != values[0].type() || v.type() == RegType.PRED) {
                throw new IllegalArgumentException("a vector store needs values of one non-predicate type, got ."
                        + values[0].type().ptx() + " and ." + v.type().ptx());
            }
        }
        emitter().instruction("st." + at.space().ptx() + ".v" + values.length + "." + values[0].type().ptx(),
                at, values);
    }
}
