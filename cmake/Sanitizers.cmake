# Sanitizers.cmake - -DMAILROOM_SANITIZE=ON builds everything with ASan + UBSan.
option(MAILROOM_SANITIZE "build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(MAILROOM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
