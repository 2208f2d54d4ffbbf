# Warnings.cmake - the warning set every target builds with; warnings are errors.
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
                    -D_FORTIFY_SOURCE=2 -fstack-protector-strong)
add_compile_definitions(_POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
