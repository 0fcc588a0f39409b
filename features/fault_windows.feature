@acceptance @fallback @faults
@behaviour:B-31 @behaviour:B-47
Feature: Faults that last a while
  A fault can be armed for a window of model time instead of a number of requests: storage that throttles
  for 40 minutes, then recovers. On the virtual clock the window opens at the very model instant of the
  user's click: time stands still while the scenario sets things up. The window ends long after the second
  attempt and before the third, so the real clock agrees too: its own overhead (a few real milliseconds a
  request, times the scale) puts each attempt several model minutes later.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100260 references these packages:
      | package  | name                     | type               | size   |
      | PS100261 | Windows 11 upgrade media | OS upgrade package | 200 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration  |
      | Check Readiness          | Check Readiness          |          | 2 minutes |
      | Upgrade Operating System | Upgrade Operating System | PS100261 | 1 minute  |
    And the packages are distributed to the CMG
    And an internet client CLIENT81
    And the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  Scenario: Storage throttled for the first 40 minutes is ridden out by retries 20 minutes apart
    Given the task sequence variable SMSTSDownloadRetryDelay is 1200
    And Azure storage throttles every request for PS100261 for the first 40 minutes of the run
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100261 from the CMG is tried 3 times, at least 1200 seconds apart

  Scenario: Storage throttled for the first hour outlasts the default retries
    Given Azure storage throttles every request for PS100261 for the first 60 minutes of the run
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with 0x801901F7
    And the download of PS100261 from the CMG is tried 3 times, at least 15 seconds apart
