// The translation unit that compiles cmake/llmc-pch.h into the precompiled
// header the rest of the build reuses (see the top-level CMakeLists.txt).
