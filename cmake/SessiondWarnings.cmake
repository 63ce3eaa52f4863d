# sessiond_warnings(target): our own code builds with strict warnings as errors.
# Generated code (protoc output) is compiled without this so a newer protoc cannot break the build.
function(sessiond_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter
                                 -Wno-missing-field-initializers)
endfunction()
