/**
 * The kernel DSL: typed Java builders that emit readable PTX for sm_80 and sm_90a (filled in by the GPU runtime issue).
 */
package io.minference.ptx;
