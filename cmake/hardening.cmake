# Warnings are errors everywhere; release builds are hardened (docs/build.md).
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla
  -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter)
add_compile_definitions(_GNU_SOURCE)

if(MM_SANITIZE OR MM_FUZZ)
  set(MM_SAN_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  add_compile_options(${MM_SAN_FLAGS} -O1 -g)
  add_link_options(${MM_SAN_FLAGS})
  if(MM_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
else()
  add_compile_options(-O2 -g -fstack-protector-strong -fstack-clash-protection
    -fcf-protection -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  add_compile_options(-fPIE)
  add_link_options(-pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
endif()
