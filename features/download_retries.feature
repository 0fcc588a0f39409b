@acceptance @timing @fallback @faults
@behaviour:B-31
Feature: Download retries, counted and spaced in model time
  The task sequence engine retries a failed download SMSTSDownloadRetryCount times (default 2), waiting
  SMSTSDownloadRetryDelay seconds (default 15) before each retry (B-31). On the virtual clock a
  retry spacing is judged to the second.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100230 references these packages:
      | package  | name                     | type               | size   |
      | PS100231 | Windows 11 upgrade media | OS upgrade package | 200 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration |
      | Check Readiness          | Check Readiness          |          | 1 minute |
      | Upgrade Operating System | Upgrade Operating System | PS100231 | 1 minute |
    And the packages are distributed to the CMG
    And an internet client CLIENT51
    And the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  @behaviour:B-47
  Scenario: Storage throttling is ridden out by the default retries, 15 seconds apart
    Given Azure storage throttles the next 2 requests for PS100231
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100231 is retried 2 times, 15 seconds apart

  @behaviour:B-47
  Scenario: The retry count and delay come from the task sequence variables
    Given the task sequence variable SMSTSDownloadRetryCount is 4
    And the task sequence variable SMSTSDownloadRetryDelay is 40
    And Azure storage throttles the next 4 requests for PS100231
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100231 is retried 4 times, 40 seconds apart

  @behaviour:B-30
  Scenario: A corrupted download fails its hash check and is retried
    Given Azure storage corrupts the next download of PS100231
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100231 is retried once, 15 seconds apart
