# The KVM monitor (src/vmm), the freestanding guest kernel (guest/) and
# their tests. Included from CMakeLists.txt after the tool and the tests.
#
# Only on x86-64 Linux with the freestanding object set (the guest links
# the core's freestanding objects and tests); elsewhere `pvtimer kvm` says
# KVM is not available and the KVM tests skip.

target_sources(pvtimer PRIVATE tools/cmd-kvm.c tools/kvm-drift.c)
target_sources(pvtimer-tests PRIVATE tests/host/test-kvm.c
                                     tests/host/test-kvm-path.c
                                     tests/host/test-qemu.c
                                     tests/host/test-vmm.c)

# The timer service (src/host) is Linux-only (timerfd, epoll, threads), so
# it lives beside the monitor rather than in the portable library.
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_library(pvtimer_timersvc STATIC src/host/timersvc.c
              src/host/svc-shard.c)
  target_include_directories(pvtimer_timersvc PUBLIC src/host
    PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_compile_definitions(pvtimer_timersvc PRIVATE _GNU_SOURCE)
  target_link_libraries(pvtimer_timersvc PUBLIC pvtimer_static
    Threads::Threads PRIVATE pvt_warnings)
  # `pvtimer bench service` drives it without a guest
  target_sources(pvtimer PRIVATE bench/bench-service.c)
  target_compile_definitions(pvtimer PRIVATE PVT_HAVE_TIMERSVC=1)
  target_link_libraries(pvtimer PRIVATE pvtimer_timersvc)
  target_compile_definitions(pvtimer-tests PRIVATE PVT_HAVE_TIMERSVC=1)
  target_sources(pvtimer-tests PRIVATE tests/host/test-timersvc.c
                                       tests/host/test-timersvc-scale.c
                                       tests/host/test-bench-service.c)
  target_link_libraries(pvtimer-tests PRIVATE pvtimer_timersvc)
endif()

if(NOT (CMAKE_SYSTEM_NAME STREQUAL "Linux"
        AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$"
        AND PVT_FREESTANDING_CHECK))
  return()
endif()

# ---------------------------------------------------------------- monitor
add_library(pvtimer_vmm STATIC
  src/vmm/vm.c
  src/vmm/clock.c
  src/vmm/kvm.c
  src/vmm/vcpu.c
  src/vmm/elf.c
  src/vmm/hypercall.c)
target_include_directories(pvtimer_vmm PUBLIC src/vmm
  PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(pvtimer_vmm PUBLIC pvtimer_timersvc)
target_compile_definitions(pvtimer_vmm PRIVATE _GNU_SOURCE)
target_link_libraries(pvtimer_vmm PRIVATE pvt_warnings)

# The experiment protocol's hypercalls (pvtimer/pvexp.h), which the tool
# registers in the monitor; the monitor itself does not know them.
add_library(pvtimer_vmm_exp STATIC src/vmm/exp.c)
target_include_directories(pvtimer_vmm_exp PRIVATE
  ${PROJECT_SOURCE_DIR}/include)
target_compile_definitions(pvtimer_vmm_exp PRIVATE _GNU_SOURCE)
target_link_libraries(pvtimer_vmm_exp PUBLIC pvtimer_vmm PRIVATE pvt_warnings)

# ---------------------------------------------------------------- guest
# Compiled with the core's freestanding flags; linked at 1 MiB by
# guest/guest.ld with the core's and its tests' freestanding objects and
# libgcc (128-bit division helpers). Linked by hand, not add_executable, so
# no hosted link option (sanitizers, PIE) reaches it.
add_library(pvtimer_guest_objs OBJECT
  guest/start.c
  guest/boot-pvh.c
  guest/standalone.c
  guest/lib.c
  guest/console.c
  guest/cpu.c
  guest/platform.c
  guest/scenario.c
  guest/smp.c
  guest/workload.c
  guest/warp.c
  guest/drift.c
  guest/args.c
  guest/selftest.c
  guest/main.c)
# The test harness's headers only where the selftest runs the core's tests.
target_include_directories(pvtimer_guest_objs PRIVATE include src guest)
set_source_files_properties(guest/selftest.c PROPERTIES
  INCLUDE_DIRECTORIES ${PROJECT_SOURCE_DIR}/tests)
target_compile_options(pvtimer_guest_objs PRIVATE ${PVT_FREESTANDING_FLAGS})
target_link_libraries(pvtimer_guest_objs PRIVATE pvt_warnings)
set_source_files_properties(guest/lib.c PROPERTIES
  COMPILE_OPTIONS -fno-tree-loop-distribute-patterns)

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-libgcc-file-name
                OUTPUT_VARIABLE PVT_LIBGCC OUTPUT_STRIP_TRAILING_WHITESPACE)
set(PVT_GUEST_IMAGE ${PROJECT_BINARY_DIR}/pvtimer-guest.elf)
add_custom_command(
  OUTPUT ${PVT_GUEST_IMAGE}
  COMMAND ${CMAKE_C_COMPILER} -nostdlib -static -no-pie
          -Wl,-T,${PROJECT_SOURCE_DIR}/guest/guest.ld
          -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--fatal-warnings
          -o ${PVT_GUEST_IMAGE}
          $<TARGET_OBJECTS:pvtimer_guest_objs>
          $<TARGET_OBJECTS:pvtimer_core_freestanding>
          $<TARGET_OBJECTS:pvtimer_lib_freestanding>
          $<TARGET_OBJECTS:pvtimer_tests_freestanding>
          ${PVT_LIBGCC}
  DEPENDS $<TARGET_OBJECTS:pvtimer_guest_objs>
          $<TARGET_OBJECTS:pvtimer_core_freestanding>
          $<TARGET_OBJECTS:pvtimer_lib_freestanding>
          $<TARGET_OBJECTS:pvtimer_tests_freestanding>
          ${PROJECT_SOURCE_DIR}/guest/guest.ld
  COMMAND_EXPAND_LISTS VERBATIM
  COMMENT "Linking the guest kernel pvtimer-guest.elf")
add_custom_target(pvtimer-guest ALL DEPENDS ${PVT_GUEST_IMAGE})

# ---------------------------------------------------------------- runs
target_sources(pvtimer_kvmrun PRIVATE src/kvmrun/scenario.c src/kvmrun/drift.c
                                      src/kvmrun/path.c
                                      src/kvmrun/faults.c)
target_link_libraries(pvtimer_kvmrun PUBLIC pvtimer_vmm pvtimer_vmm_exp)

# ---------------------------------------------------------------- tool
target_link_libraries(pvtimer PRIVATE pvtimer_vmm pvtimer_vmm_exp)
target_compile_definitions(pvtimer PRIVATE PVT_HAVE_KVM=1
  PVT_GUEST_DEFAULT_PATH="${PVT_GUEST_IMAGE}")
add_dependencies(pvtimer pvtimer-guest)
target_compile_definitions(pvtimer-tests PRIVATE PVT_HAVE_KVM=1
  PVT_GUEST_IMAGE_PATH="${PVT_GUEST_IMAGE}")
add_dependencies(pvtimer-tests pvtimer-guest)
target_link_libraries(pvtimer-tests PRIVATE pvtimer_vmm_exp)
