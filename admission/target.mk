# admission/target.mk -- libqas and the qas CLI for the target: static x86-64
# ELFs over musl (Debian's musl-gcc), with the part of GSL that libqas uses
# compiled from Debian's gsl source package, fetched into the build
# directory by tools/debsrc.sh (brief section 10; nothing of GSL is in the
# tree). Included by the top Makefile after admission/build.mk.
#
#   make gsl-target   $(BUILD)/gsl-target/libgsl.a and include/gsl/
#   make qas-target   $(BUILD)/admission-target/libqas.a, $(BUILD)/user/qas.elf
#   make test         also builds these; tests/checks/qas_target.t runs the
#                     static qas.elf on the host against the host-built qas
#
# The first build needs the Debian archive (deb.debian.org or the mirror in
# the system's apt configuration): one `apt-get update` of the source
# indexes into $(BUILD)/src/apt, then the source package (about 7 MB).

# The tested version, bookworm's. A point release that supersedes it
# removes it from the archive; tools/debsrc.sh then says so and lists the
# version there is: test that one and change this line.
GSL_VERSION := 2.7.1+dfsg-5+deb12u1

GSL_CC      := musl-gcc
GSL_SRC     := $(BUILD)/src/gsl
GSL_STAMP   := $(GSL_SRC)/.debsrc
GSL_TARGET  := $(BUILD)/gsl-target
GSL_LIB     := $(GSL_TARGET)/libgsl.a
GSL_INCLUDE := $(GSL_TARGET)/include
GSL_HEADERS := $(GSL_INCLUDE)/gsl/.linked
GSL_CONFIG_H := $(GSL_TARGET)/config/config.h

# The GSL sources libqas needs: the closure of admission/*.c's undefined
# gsl_* symbols over GSL's objects (found with nm; the link of qas.elf below
# fails if a symbol is missing). FFT: fft.c is one unit that includes all
# of fft/'s templates. Normal CDF and its inverse, the normal, flat and
# discrete (Walker alias) samplers, MT19937, the generic rng layer (with
# the out-of-line copies of its inline functions) and the error handler.
# No CBLAS or special functions.
GSL_TARGET_SRCS := fft/fft.c cdf/gauss.c cdf/gaussinv.c \
	randist/gauss.c randist/flat.c randist/discrete.c \
	rng/rng.c rng/mt.c rng/inline.c err/error.c err/stream.c
GSL_OBJS := $(GSL_TARGET_SRCS:%.c=$(GSL_TARGET)/obj/%.o)

# What GSL's configure decides for x86_64-linux with CC=musl-gcc (checked
# by running it once), limited to the macros GSL's library code reads;
# config.h is GSL's config.h.in with these #undefs turned into #defines,
# as config.status would. The HAVE_DECL_* must be 1, or config.h renames
# isnan, hypot and friends to GSL's own versions. Extended precision
# registers: configure says yes for every *86-*-linux host (GSL_COERCE_DBL
# forces a store), as in Debian's build of the host library.
GSL_CONFIG := HAVE_INLINE=1 HAVE_C99_INLINE=1 STDC_HEADERS=1 \
	HAVE_STRING_H=1 HAVE_UNISTD_H=1 HAVE_EXIT_SUCCESS_AND_FAILURE=1 \
	HAVE_PRINTF_LONGDOUBLE=1 HAVE_IEEE_COMPARISONS=1 HAVE_IEEE_DENORMALS=1 \
	HAVE_EXTENDED_PRECISION_REGISTERS=1 \
	HAVE_DECL_ACOSH=1 HAVE_DECL_ASINH=1 HAVE_DECL_ATANH=1 HAVE_DECL_EXPM1=1 \
	HAVE_DECL_FINITE=1 HAVE_DECL_FREXP=1 HAVE_DECL_HYPOT=1 HAVE_DECL_ISFINITE=1 \
	HAVE_DECL_ISINF=1 HAVE_DECL_ISNAN=1 HAVE_DECL_LDEXP=1 HAVE_DECL_LOG1P=1 \
	HAVE_DECL_FEENABLEEXCEPT=0 HAVE_DECL_FESETTRAPENABLE=0 HAVE_DECL_FPRND_T=0
GSL_CFLAGS := -O2 -I$(GSL_TARGET)/config -I$(GSL_INCLUDE) -I$(GSL_SRC)

# fetch: apt and dpkg-dev (dpkg-source) and musl are the `user` group.
.PHONY: gsl-target qas-target deps-gsl-target
deps-gsl-target: deps-build
	@$(DEPS) user

# The stamp names the extracted version; another pin fetches again.
ifneq ($(shell cat '$(GSL_STAMP)' 2>/dev/null),gsl $(GSL_VERSION))
.PHONY: $(GSL_STAMP)
endif
$(GSL_STAMP): | deps-gsl-target
	@tools/debsrc.sh gsl $(GSL_VERSION) $(GSL_SRC)

# GSL's own build links every gsl*.h of the tree into gsl/ (gsl/Makefile.am,
# header-links); the same here, relative links into the extracted tree.
$(GSL_HEADERS): $(GSL_STAMP)
	@rm -rf $(@D)
	@mkdir -p $(@D)
	@ln -sr $(GSL_SRC)/gsl*.h $(GSL_SRC)/*/gsl*.h $(@D)/
	@touch $@

$(GSL_CONFIG_H): $(GSL_STAMP) admission/target.mk
	@mkdir -p $(@D)
	$(Q)sed $(foreach d,$(GSL_CONFIG),-e 's/^#undef $(word 1,$(subst =, ,$(d)))$$/#define $(subst =, ,$(d))/') \
		-e 's|^\(# *undef .*\)|/* \1 */|' $(GSL_SRC)/config.h.in >$@.tmp
	@for d in $(GSL_CONFIG); do grep -q "^#define $${d%%=*} " $@.tmp || \
		{ echo "gsl-target: $${d%%=*} is not in GSL's config.h.in (new GSL version?)" >&2; exit 1; }; done
	@mv $@.tmp $@

# GSL's sources come from the stamp's extraction, not from make's file
# search, so the objects depend on the stamp.
$(GSL_TARGET)/obj/%.o: $(GSL_STAMP) $(GSL_HEADERS) $(GSL_CONFIG_H) | deps-gsl-target
	@mkdir -p $(@D)
	$(Q)$(GSL_CC) $(GSL_CFLAGS) -I$(GSL_SRC)/$(*D) -c -o $@ $(GSL_SRC)/$*.c

$(GSL_LIB): $(GSL_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

gsl-target: $(GSL_LIB) $(GSL_HEADERS)

# libqas for the target: the host build's sources and warnings, musl and
# the GSL above instead of glibc and Debian's libgsl.
QAS_TARGET_OBJ    := $(BUILD)/admission-target
QAS_TARGET_LIB    := $(QAS_TARGET_OBJ)/libqas.a
QAS_TARGET_ELF    := $(BUILD)/user/qas.elf
QAS_TARGET_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude -Iadmission \
	-I$(GSL_INCLUDE) -MMD -MP

$(QAS_TARGET_OBJ)/%.o: admission/%.c $(GSL_HEADERS) | deps-gsl-target
	@mkdir -p $(@D)
	$(Q)$(GSL_CC) $(QAS_TARGET_CFLAGS) -c -o $@ $<

$(QAS_TARGET_LIB): $(patsubst admission/%.c,$(QAS_TARGET_OBJ)/%.o,$(QAS_LIB_SRCS))
	@rm -f $@
	$(Q)ar rcs $@ $^

# Static, at the default 0x400000 like the components (components/build.mk).
$(QAS_TARGET_ELF): $(QAS_TARGET_OBJ)/qas_main.o $(QAS_TARGET_LIB) $(GSL_LIB)
	@mkdir -p $(@D)
	$(Q)$(GSL_CC) -static -o $@ $^ -lm

qas-target: $(QAS_TARGET_ELF) $(QAS_TARGET_LIB)

-include $(wildcard $(QAS_TARGET_OBJ)/*.d)

# tests/checks/qas_target.t compares the target CLI with the host one.
test test-host: $(QAS_TARGET_ELF) $(QAS_BIN)
