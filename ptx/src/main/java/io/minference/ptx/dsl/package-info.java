/**
 * The kernel DSL: typed registers ({@link io.minference.ptx.dsl.F32}, {@link io.minference.ptx.dsl.U32} ...),
 * a {@link io.minference.ptx.dsl.KernelBuilder} whose instruction families are small mixin interfaces, structured
 * control flow as lambdas, and {@link io.minference.ptx.dsl.KernelDefinition} records whose emitted PTX is cached
 * per specialization and target.
 */
package io.minference.ptx.dsl;
