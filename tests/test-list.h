/*
 * The test table. Each entry: X(name, flags, timeout_ms), where the test is
 * TEST_IMPL(name) in some tests/ file, flags is PVT_TEST_CORE (freestanding:
 * also built into the guest) or PVT_TEST_HOST, and timeout_ms 0 means the
 * runner's default. Registration is explicit: a test not listed here does
 * not run. CMake reads this file to register every test with ctest.
 */
#ifndef PVTIMER_TEST_LIST_H
#define PVTIMER_TEST_LIST_H

/* Tests of the freestanding core; they may run inside the guest. */
#define PVT_TEST_LIST_CORE(X)                                                  \
    /* runner: the harness itself */                                           \
    PVT_TESTS_RUNNER_CORE(X)                                                   \
    /* the formatter the harness and the guest print with */                   \
    PVT_TESTS_FMT(X)                                                           \
    /* base.h arithmetic */                                                    \
    PVT_TESTS_BASE(X)                                                          \
    /* the core's internal arithmetic: div64, int128 */                        \
    PVT_TESTS_ARITH(X)                                                         \
    /* clocksource, registry, jiffies */                                       \
    PVT_TESTS_CLOCKSOURCE(X)                                                   \
    /* pvclock ABI, reader, writer */                                          \
    PVT_TESTS_PVCLOCK(X)                                                       \
    /* timekeeping */                                                          \
    PVT_TESTS_TIMEKEEPING(X)                                                   \
    /* clockevents */                                                          \
    PVT_TESTS_CLOCKEVENT(X)                                                    \
    /* programming strategies */                                               \
    PVT_TESTS_STRATEGY(X)                                                      \
    /* drift estimation, the compensated strategy */                           \
    PVT_TESTS_DRIFT(X)                                                         \
    PVT_TESTS_HISTOGRAM(X)                                                     \
    /* the ladder: the timer queue's container, alone */                       \
    PVT_TESTS_LADDER(X)                                                        \
    PVT_TESTS_TIMERQUEUE(X)                                                    \
    PVT_TESTS_TICK(X)

/* Tests that need the host: threads, processes, files. */
#define PVT_TEST_LIST_HOST(X)                                                  \
    PVT_TESTS_RUNNER_HOST(X)                                                   \
    PVT_TESTS_FMT_HOST(X)                                                      \
    PVT_TESTS_PVCLOCK_HOST(X)                                                  \
    PVT_TESTS_TIMERQUEUE_HOST(X)                                               \
    PVT_TESTS_SMP_HOST(X)                                                      \
    PVT_TESTS_BENCH_HOST(X)                                                    \
    PVT_TESTS_DRIFT_HOST(X)                                                    \
    PVT_TESTS_HVTIMER_HOST(X)                                                  \
    PVT_TESTS_TIMERSVC_HOST(X)                                                 \
    PVT_TESTS_SIM_HOST(X)                                                      \
    PVT_TESTS_TOOLS_HOST(X)                                                    \
    PVT_TESTS_KVM_HOST(X)                                                      \
    PVT_TESTS_VMM_HOST(X)                                                      \
    PVT_TESTS_QEMU_HOST(X)                                                     \
    PVT_TESTS_README_HOST(X)

#define PVT_TEST_LIST(X) PVT_TEST_LIST_CORE(X) PVT_TEST_LIST_HOST(X)

/* ---- sections ---- */

#define PVT_TESTS_RUNNER_CORE(X)                                               \
    X(runner_strcmp, PVT_TEST_CORE, 0)                                         \
    X(runner_asserts_pass, PVT_TEST_CORE, 0)

/* The freestanding formatter, src/lib/fmt.h (tests/core/test-fmt.c). */
#define PVT_TESTS_FMT(X)                                                       \
    X(fmt_snprintf_signed, PVT_TEST_CORE, 0)                                   \
    X(fmt_snprintf_unsigned, PVT_TEST_CORE, 0)                                 \
    X(fmt_snprintf_strings, PVT_TEST_CORE, 0)                                  \
    X(fmt_snprintf_pointer, PVT_TEST_CORE, 0)                                  \
    X(fmt_snprintf_truncation, PVT_TEST_CORE, 0)                               \
    X(fmt_snprintf_unknown, PVT_TEST_CORE, 0)                                  \
    X(fmt_print_chunks, PVT_TEST_CORE, 0)                                      \
    X(fmt_sink_and_limits, PVT_TEST_CORE, 0)

/* The formatter against the host's snprintf (tests/host/test-fmt-host.c). */
#define PVT_TESTS_FMT_HOST(X) X(fmt_host_matches_snprintf, PVT_TEST_HOST, 0)

#define PVT_TESTS_RUNNER_HOST(X)                                               \
    X(runner_reports_pass, PVT_TEST_HOST, 0)                                   \
    X(runner_reports_failure, PVT_TEST_HOST, 0)                                \
    X(runner_reports_crash, PVT_TEST_HOST, 0)                                  \
    X(runner_reports_timeout, PVT_TEST_HOST, 0)                                \
    X(runner_reports_skip, PVT_TEST_HOST, 0)                                   \
    X(runner_caps_output, PVT_TEST_HOST, 0)                                    \
    X(runner_kills_process_group, PVT_TEST_HOST, 0)                            \
    X(runner_list_and_filter, PVT_TEST_HOST, 0)                                \
    X(runner_bad_args, PVT_TEST_HOST, 0)                                       \
    X(runner_nofork, PVT_TEST_HOST, 0)

#define PVT_TESTS_BASE(X)                                                      \
    X(base_add_sat, PVT_TEST_CORE, 0)                                          \
    X(base_mul_shr_edges, PVT_TEST_CORE, 0)                                    \
    X(base_mul_shr_random, PVT_TEST_CORE, 0)                                   \
    X(base_strerror, PVT_TEST_CORE, 0)

#define PVT_TESTS_ARITH(X)                                                     \
    X(arith_div64_by_hand, PVT_TEST_CORE, 0)                                   \
    X(arith_div64_random, PVT_TEST_CORE, 0)                                    \
    X(arith_ctz64, PVT_TEST_CORE, 0)                                           \
    X(arith_int128_by_hand, PVT_TEST_CORE, 0)                                  \
    X(arith_int128_random, PVT_TEST_CORE, 0)

#define PVT_TESTS_CLOCKSOURCE(X)                                               \
    X(cs_calc_mult_shift_table, PVT_TEST_CORE, 0)                              \
    X(cs_calc_mult_shift_by_hand, PVT_TEST_CORE, 0)                            \
    X(cs_calc_mult_shift_errors, PVT_TEST_CORE, 0)                             \
    X(cs_init_validation, PVT_TEST_CORE, 0)                                    \
    X(cs_max_interval, PVT_TEST_CORE, 0)                                       \
    X(cs_wrap_safe_delta, PVT_TEST_CORE, 0)                                    \
    X(cs_ns2cyc_rounds_up, PVT_TEST_CORE, 0)                                   \
    X(cs_registry_selects_best, PVT_TEST_CORE, 0)                              \
    X(cs_registry_errors, PVT_TEST_CORE, 0)                                    \
    X(cs_jiffies, PVT_TEST_CORE, 0)

#define PVT_TESTS_PVCLOCK(X)                                                   \
    X(pvclock_abi_layout, PVT_TEST_CORE, 0)                                    \
    X(pvclock_scale_delta_shifts, PVT_TEST_CORE, 0)                            \
    X(pvclock_scale_delta_wide, PVT_TEST_CORE, 0)                              \
    X(pvclock_scale_delta_sweep, PVT_TEST_CORE, 0)                             \
    X(pvclock_write_versions, PVT_TEST_CORE, 0)                                \
    X(pvclock_write_errors, PVT_TEST_CORE, 0)                                  \
    X(pvclock_read_values, PVT_TEST_CORE, 0)                                   \
    X(pvclock_read_tsc, PVT_TEST_CORE, 0)                                      \
    X(pvclock_read_pair, PVT_TEST_CORE, 0)                                     \
    X(pvclock_read_saturates, PVT_TEST_CORE, 0)                                \
    X(pvclock_read_odd_version, PVT_TEST_CORE, 0)                              \
    X(pvclock_read_version_changes, PVT_TEST_CORE, 0)                          \
    X(pvclock_read_errors, PVT_TEST_CORE, 0)                                   \
    X(pvclock_guest_stopped, PVT_TEST_CORE, 0)                                 \
    X(pvclock_last_value_guard, PVT_TEST_CORE, 0)                              \
    X(pvclock_tsc_stable_skips_guard, PVT_TEST_CORE, 0)                        \
    X(pvclock_guest_resume, PVT_TEST_CORE, 0)                                  \
    X(pvclock_time_scale_by_hand, PVT_TEST_CORE, 0)                            \
    X(pvclock_time_scale_frequencies, PVT_TEST_CORE, 0)                        \
    X(pvclock_time_scale_errors, PVT_TEST_CORE, 0)                             \
    X(pvclock_time_scale_range, PVT_TEST_CORE, 0)                              \
    X(pvclock_tsc_khz, PVT_TEST_CORE, 0)                                       \
    X(pvclock_tsc_khz_errors, PVT_TEST_CORE, 0)                                \
    X(pvclock_epoch, PVT_TEST_CORE, 0)                                         \
    X(pvclock_clocksource, PVT_TEST_CORE, 0)                                   \
    X(pvclock_clocksource_per_vcpu, PVT_TEST_CORE, 0)                          \
    X(pvclock_clocksource_read_error, PVT_TEST_CORE, 0)                        \
    X(pvclock_clocksource_errors, PVT_TEST_CORE, 0)

#define PVT_TESTS_PVCLOCK_HOST(X) X(pvclock_race_seqlock, PVT_TEST_HOST, 30000)

#define PVT_TESTS_TIMEKEEPING(X)                                               \
    X(tk_errors, PVT_TEST_CORE, 0)                                             \
    X(tk_converts_and_starts, PVT_TEST_CORE, 0)                                \
    X(tk_accumulates_without_loss, PVT_TEST_CORE, 0)                           \
    X(tk_wraps_narrow_counter, PVT_TEST_CORE, 0)                               \
    X(tk_never_backwards, PVT_TEST_CORE, 0)                                    \
    X(tk_switch_is_continuous, PVT_TEST_CORE, 0)                               \
    X(tk_resume_is_continuous, PVT_TEST_CORE, 0)                               \
    X(tk_ns_to_cycles, PVT_TEST_CORE, 0)                                       \
    X(tk_listeners, PVT_TEST_CORE, 0)                                          \
    X(tk_stopped_writer_bounded, PVT_TEST_CORE, 0)                             \
    X(tk_reader_retries_after_writer, PVT_TEST_CORE, 0)

#define PVT_TESTS_CLOCKEVENT(X)                                                \
    X(ce_delta2ns, PVT_TEST_CORE, 0)                                           \
    X(ce_config, PVT_TEST_CORE, 0)                                             \
    X(ce_register_validation, PVT_TEST_CORE, 0)                                \
    X(ce_program_past, PVT_TEST_CORE, 0)                                       \
    X(ce_starvation_prevention, PVT_TEST_CORE, 0)                              \
    X(ce_clamping, PVT_TEST_CORE, 0)                                           \
    X(ce_refusals_and_retries, PVT_TEST_CORE, 0)                               \
    X(ce_gives_up, PVT_TEST_CORE, 0)                                           \
    X(ce_states, PVT_TEST_CORE, 0)                                             \
    X(ce_event_handler, PVT_TEST_CORE, 0)                                      \
    X(ce_bind_release, PVT_TEST_CORE, 0)                                       \
    X(ce_listens_while_registered, PVT_TEST_CORE, 0)

#define PVT_TESTS_STRATEGY(X)                                                  \
    X(strategy_table, PVT_TEST_CORE, 0)                                        \
    X(strategy_needs, PVT_TEST_CORE, 0)                                        \
    X(strategy_exact_without_drift, PVT_TEST_CORE, 0)                          \
    X(strategy_paired_reads, PVT_TEST_CORE, 0)                                 \
    X(strategy_abs_boot_offset_drifts, PVT_TEST_CORE, 0)                       \
    X(strategy_abs_mode_offset_retakes, PVT_TEST_CORE, 0)                      \
    X(strategy_local_error_with_drift, PVT_TEST_CORE, 0)                       \
    X(strategy_preemption, PVT_TEST_CORE, 0)                                   \
    X(strategy_saturates, PVT_TEST_CORE, 0)                                    \
    X(strategy_u32_delta_clamp, PVT_TEST_CORE, 0)                              \
    X(strategy_rounds_up, PVT_TEST_CORE, 0)                                    \
    X(strategy_clocksource_switch, PVT_TEST_CORE, 0)                           \
    X(strategy_state, PVT_TEST_CORE, 0)                                        \
    X(strategy_flags, PVT_TEST_CORE, 0)

#define PVT_TESTS_DRIFT(X)                                                     \
    X(drift_errors, PVT_TEST_CORE, 0)                                          \
    X(drift_phase_step_keeps_rate, PVT_TEST_CORE, 0)                           \
    X(drift_epoch_order_and_filters, PVT_TEST_CORE, 0)                         \
    X(drift_measure_keeps_narrowest, PVT_TEST_CORE, 0)                         \
    X(drift_scale, PVT_TEST_CORE, 0)                                           \
    X(strategy_compensated, PVT_TEST_CORE, 0)                                  \
    X(drift_converges, PVT_TEST_CORE, 0)                                       \
    X(drift_long_run_rebases, PVT_TEST_CORE, 0)                                \
    X(drift_hostile_growing_jumps, PVT_TEST_CORE, 0)

#define PVT_TESTS_HISTOGRAM(X)                                                 \
    X(hist_bucket_boundaries, PVT_TEST_CORE, 0)                                \
    X(hist_bucket_random, PVT_TEST_CORE, 0)                                    \
    X(hist_add_counts, PVT_TEST_CORE, 0)                                       \
    X(hist_quantile_1_to_100, PVT_TEST_CORE, 0)                                \
    X(hist_quantile_edges, PVT_TEST_CORE, 0)                                   \
    X(hist_quantile_huge_count, PVT_TEST_CORE, 0)                              \
    X(hist_quantile_random, PVT_TEST_CORE, 0)                                  \
    X(hist_signed, PVT_TEST_CORE, 0)                                           \
    X(hist_merge, PVT_TEST_CORE, 0)

#define PVT_TESTS_LADDER(X)                                                    \
    X(ladder_errors, PVT_TEST_CORE, 0)                                         \
    X(ladder_memory, PVT_TEST_CORE, 0)                                         \
    X(ladder_order_against_reference, PVT_TEST_CORE, 0)                        \
    X(ladder_order_full_range, PVT_TEST_CORE, 0)                               \
    X(ladder_rung_spawn, PVT_TEST_CORE, 0)                                     \
    X(ladder_heap_demotion, PVT_TEST_CORE, 0)                                  \
    X(ladder_remove_everywhere, PVT_TEST_CORE, 0)                              \
    X(ladder_top_spread, PVT_TEST_CORE, 0)

#define PVT_TESTS_TIMERQUEUE(X)                                                \
    X(tq_errors, PVT_TEST_CORE, 0)                                             \
    X(tq_arm_basics, PVT_TEST_CORE, 0)                                         \
    X(tq_equal_deadlines_in_arming_order, PVT_TEST_CORE, 0)                    \
    X(tq_device_programming, PVT_TEST_CORE, 0)                                 \
    X(tq_device_switch, PVT_TEST_CORE, 0)                                      \
    X(tq_event_runs_due, PVT_TEST_CORE, 0)                                     \
    X(tq_spurious_early_event, PVT_TEST_CORE, 0)                               \
    X(tq_splits_long_wait, PVT_TEST_CORE, 0)                                   \
    X(tq_splits_small_device, PVT_TEST_CORE, 0)                                \
    X(tq_callback_cancel_and_rearm, PVT_TEST_CORE, 0)                          \
    X(tq_callback_arms_into_round, PVT_TEST_CORE, 0)                           \
    X(tq_event_does_not_nest, PVT_TEST_CORE, 0)                                \
    X(tq_round_lateness_histogram, PVT_TEST_CORE, 0)                           \
    X(tq_cancel_then_rearm, PVT_TEST_CORE, 0)                                  \
    X(tq_callback_rearm_self_zero_delay, PVT_TEST_CORE, 0)                     \
    X(tq_callback_rearm_self_frozen_time, PVT_TEST_CORE, 0)                    \
    X(tq_hang_backoff_spent, PVT_TEST_CORE, 0)                                 \
    X(tq_hang_backoff_capped, PVT_TEST_CORE, 0)                                \
    X(tq_program_errors, PVT_TEST_CORE, 0)                                     \
    X(tq_property_perturbed_device, PVT_TEST_CORE, 0)                          \
    X(tq_heap_against_model, PVT_TEST_CORE, 0)                                 \
    X(tq_rungs_against_model, PVT_TEST_CORE, 0)                                \
    X(tq_init_rungs_errors, PVT_TEST_CORE, 0)                                  \
    X(tq_memory, PVT_TEST_CORE, 0)                                             \
    X(tq_remote_inbox_drained_in_order, PVT_TEST_CORE, 0)                      \
    X(tq_remote_drained_by_owner_calls, PVT_TEST_CORE, 0)                      \
    X(tq_remote_cancel_and_errors, PVT_TEST_CORE, 0)                           \
    X(tq_remote_push_while_programming, PVT_TEST_CORE, 0)

#define PVT_TESTS_TICK(X)                                                      \
    X(tick_init_periodic, PVT_TEST_CORE, 0)                                    \
    X(tick_init_emulated, PVT_TEST_CORE, 0)                                    \
    X(tick_jiffies_clock_loses_time, PVT_TEST_CORE, 0)                         \
    X(tick_emulated_missed_periods, PVT_TEST_CORE, 0)                          \
    X(tick_lowres_timers, PVT_TEST_CORE, 0)                                    \
    X(tick_highres_switch_emulated, PVT_TEST_CORE, 0)                          \
    X(tick_highres_switch_periodic, PVT_TEST_CORE, 0)                          \
    X(tick_highres_switch_between_ticks, PVT_TEST_CORE, 0)                     \
    X(tick_highres_late_tick, PVT_TEST_CORE, 0)                                \
    X(tick_idle_long_waits, PVT_TEST_CORE, 0)                                  \
    X(tick_idle_enter_exit, PVT_TEST_CORE, 0)                                  \
    X(tick_init_errors, PVT_TEST_CORE, 0)                                      \
    X(tick_check_highres_conditions, PVT_TEST_CORE, 0)                         \
    X(tick_highres_switch_fails, PVT_TEST_CORE, 0)                             \
    X(tick_highres_switch_fails_emulated, PVT_TEST_CORE, 0)                    \
    X(tick_emulated_device_refuses, PVT_TEST_CORE, 0)                          \
    X(tick_mode_names, PVT_TEST_CORE, 0)

#define PVT_TESTS_TIMERQUEUE_HOST(X)                                           \
    X(tq_host_million_events, PVT_TEST_HOST, 60000)                            \
    X(tq_host_million_ticks, PVT_TEST_HOST, 60000)

#define PVT_TESTS_SMP_HOST(X)                                                  \
    X(tq_host_remote_arming, PVT_TEST_HOST, 60000)                             \
    X(tk_host_concurrent_readers, PVT_TEST_HOST, 60000)

#define PVT_TESTS_BENCH_HOST(X)                                                \
    X(bench_queue_json, PVT_TEST_HOST, 60000)                                  \
    X(bench_clock_json, PVT_TEST_HOST, 60000)                                  \
    X(bench_ref_heap_model, PVT_TEST_HOST, 0)                                  \
    X(bench_ref_rbtree_model, PVT_TEST_HOST, 0)                                \
    X(bench_ref_sorted_runs, PVT_TEST_HOST, 0)                                 \
    X(bench_drift_json, PVT_TEST_HOST, 60000)

#define PVT_TESTS_DRIFT_HOST(X)                                                \
    X(drift_host_noise_no_false_step, PVT_TEST_HOST, 0)                        \
    X(drift_host_linreg_reference, PVT_TEST_HOST, 0)

#define PVT_TESTS_HVTIMER_HOST(X)                                              \
    X(hv_default_periodic, PVT_TEST_HOST, 0)                                   \
    X(hv_singleshot, PVT_TEST_HOST, 0)                                         \
    X(hv_legacy_set_timer_op, PVT_TEST_HOST, 0)                                \
    X(hv_slop, PVT_TEST_HOST, 0)                                               \
    X(hv_rate_limit_storm, PVT_TEST_HOST, 0)

#define PVT_TESTS_SIM_HOST(X)                                                  \
    X(sim_params_units, PVT_TEST_HOST, 0)                                      \
    X(sim_events_order, PVT_TEST_HOST, 0)                                      \
    X(sim_events_rounds, PVT_TEST_HOST, 0)                                     \
    X(sim_every_strategy_keeps_the_queue_promise, PVT_TEST_HOST, 120000)       \
    X(sim_cli_deterministic_and_errors, PVT_TEST_HOST, 120000)                 \
    X(sim_html_report, PVT_TEST_HOST, 120000)                                  \
    X(sim_drift_sign, PVT_TEST_HOST, 0)                                        \
    X(sim_scenario_files, PVT_TEST_HOST, 0)                                    \
    X(sim_abs_boot_offset_keeps_the_boot_drift, PVT_TEST_HOST, 120000)         \
    X(sim_abs_mode_offset_grows_during_boot, PVT_TEST_HOST, 120000)            \
    X(sim_delta_error_is_local, PVT_TEST_HOST, 120000)                         \
    X(sim_relative_follows_the_preemptions, PVT_TEST_HOST, 120000)             \
    X(sim_coupled_exact_after_switch, PVT_TEST_HOST, 120000)                   \
    X(sim_compensated_seed_boot, PVT_TEST_HOST, 120000)                        \
    X(sim_compensated_steady_drift, PVT_TEST_HOST, 120000)                     \
    X(sim_nohz_idle_splits_long_waits, PVT_TEST_HOST, 120000)                  \
    X(workload_draws_in_order, PVT_TEST_HOST, 0)                               \
    X(workload_list_as_the_guest_gets_it, PVT_TEST_HOST, 60000)                \
    X(workload_preemptions_stream, PVT_TEST_HOST, 0)                           \
    X(sim_run_all_equals_each_alone, PVT_TEST_HOST, 120000)                    \
    X(sim_scenario_name_or_file, PVT_TEST_HOST, 0)                             \
    X(sim_smp_every_strategy_every_vcpu, PVT_TEST_HOST, 120000)                \
    X(sim_smp_backwards_without_the_guard, PVT_TEST_HOST, 120000)              \
    X(sim_smp_one_vcpu_is_the_run, PVT_TEST_HOST, 60000)                       \
    X(sim_smp_workload_shares, PVT_TEST_HOST, 0)                               \
    X(sim_smp_cli, PVT_TEST_HOST, 120000)                                     \
    X(sim_fault_params_default_to_none, PVT_TEST_HOST, 0)                      \
    X(sim_fault_narrow_counter, PVT_TEST_HOST, 60000)                          \
    X(sim_fault_narrow_counter_tickless, PVT_TEST_HOST, 60000)                 \
    X(sim_fault_hv_clock_step, PVT_TEST_HOST, 120000)                          \
    X(sim_fault_migrate_tickless, PVT_TEST_HOST, 60000)                        \
    X(sim_matrix_builtins_hold_every_fault, PVT_TEST_HOST, 0)                  \
    X(sim_matrix_cells_and_shards, PVT_TEST_HOST, 0)                           \
    X(sim_matrix_bad_descriptions, PVT_TEST_HOST, 0)                           \
    X(sim_matrix_quick_shards_merge, PVT_TEST_HOST, 600000)                    \
    X(sim_matrix_verdicts_and_usage, PVT_TEST_HOST, 60000)                     \
    X(sim_matrix_gnu_parallel, PVT_TEST_HOST, 600000)

#define PVT_TESTS_TOOLS_HOST(X)                                                \
    X(tool_help_and_usage, PVT_TEST_HOST, 0)                                   \
    X(tool_strategies, PVT_TEST_HOST, 0)                                       \
    X(tool_bench_args, PVT_TEST_HOST, 0)                                       \
    X(tool_drift, PVT_TEST_HOST, 30000)                                        \
    X(tool_options_alike_in_every_command, PVT_TEST_HOST, 30000)               \
    X(sim_scenario_text_refusals, PVT_TEST_HOST, 0)                            \
    X(sim_escape_messages, PVT_TEST_HOST, 0)                                   \
    X(tool_bad_scenario_files, PVT_TEST_HOST, 0)                               \
    X(tool_write_errors, PVT_TEST_HOST, 60000)                                 \
    X(tool_output_path_refused_before_run, PVT_TEST_HOST, 0)                   \
    X(options_values_and_units, PVT_TEST_HOST, 0)                              \
    X(options_refusals, PVT_TEST_HOST, 0)                                      \
    X(options_operands_strategies_help, PVT_TEST_HOST, 0)

#define PVT_TESTS_KVM_HOST(X)                                                  \
    X(kvm_selftest, PVT_TEST_HOST, 120000)                                     \
    X(kvm_bad_elf, PVT_TEST_HOST, 0)                                           \
    X(kvm_hostile_guest, PVT_TEST_HOST, 60000)                                 \
    X(kvm_scenario_seed_boot, PVT_TEST_HOST, 180000)                           \
    X(kvm_scenario_migrate, PVT_TEST_HOST, 120000)                             \
    X(kvm_scenario_smp, PVT_TEST_HOST, 600000)                                 \
    X(kvm_unavailable_exit_77, PVT_TEST_HOST, 0)                               \
    X(kvm_scenario_compensated, PVT_TEST_HOST, 120000)                         \
    X(kvm_drift_tsc_against_kvmclock, PVT_TEST_HOST, 60000)

/* The timer service with real time, without KVM (tests/host/test-timersvc.c). */
#define PVT_TESTS_TIMERSVC_HOST(X)                                             \
    X(timersvc_bad_arguments, PVT_TEST_HOST, 0)                                \
    X(timersvc_never_early, PVT_TEST_HOST, 0)                                  \
    X(timersvc_default_periodic, PVT_TEST_HOST, 0)                             \
    X(timersvc_storm_rate_limited, PVT_TEST_HOST, 0)                           \
    X(timersvc_clock_jump, PVT_TEST_HOST, 0)                                   \
    /* many timers, threads, clients (tests/host/test-timersvc-scale.c) */     \
    X(timersvc_scale_bad_arguments, PVT_TEST_HOST, 0)                          \
    X(timersvc_scale_16k_timers, PVT_TEST_HOST, 0)                             \
    X(timersvc_advance_never_early_under_spike, PVT_TEST_HOST, 0)              \
    X(timersvc_storm_isolation, PVT_TEST_HOST, 0)                              \
    /* pvtimer bench service (tests/host/test-bench-service.c) */               \
    X(bench_service_json, PVT_TEST_HOST, 60000)                                \
    X(bench_service_storm_json, PVT_TEST_HOST, 60000)                          \
    X(bench_service_rt, PVT_TEST_HOST, 60000)                                  \
    X(bench_service_bad_arguments, PVT_TEST_HOST, 0)                           \
    /* pvtimer kvm's path_ns and advance_ns (tests/host/test-kvm-path.c) */    \
    X(kvm_path_breakdown, PVT_TEST_HOST, 120000)                               \
    X(kvm_path_bad_advance, PVT_TEST_HOST, 0)

/* The monitor's hypercall dispatch, without /dev/kvm (tests/host/test-vmm.c). */
#define PVT_TESTS_VMM_HOST(X)                                                  \
    X(vmm_unregistered_hypercall, PVT_TEST_HOST, 0)                            \
    X(vmm_registered_hypercall, PVT_TEST_HOST, 0)                              \
    X(vmm_exp_server, PVT_TEST_HOST, 0)                                        \
    X(vmm_vcpu_up, PVT_TEST_HOST, 0)

/* The guest image under QEMU with KVM (PVH entry, serial console; -smp 2:
 * INIT/SIPI). */
#define PVT_TESTS_QEMU_HOST(X)                                                 \
    X(qemu_boot, PVT_TEST_HOST, 90000)                                         \
    X(qemu_smp, PVT_TEST_HOST, 300000)

/* The README's commands (tests/host/test-readme.c): well formed, and run
 * from the source directory against its build/ (each bounded by its own
 * timeout; the whole, by this one). */
#define PVT_TESTS_README_HOST(X)                                               \
    X(readme_commands_well_formed, PVT_TEST_HOST, 0)                           \
    X(readme_commands_run, PVT_TEST_HOST, 900000)

#endif /* PVTIMER_TEST_LIST_H */
