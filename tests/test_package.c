/* Packaging: make install into a temporary prefix, then a client built through pkg-config links
 * against the shared library (SONAME libnac.so.0) and against the static one, and runs; the
 * shared library exports nothing outside nac_ (tests/package/check.sh). */
#include "test.h"

TEST(package_installed_library_links_shared_and_static)
{
    CHECK(nac_test_sh("sh tests/package/check.sh %s >/dev/null", nac_test_tmp_dir()) == 0);
}
