@acceptance @fallback
Feature: Falling back between content sources, retrying, and resuming a cut download
  A failed download is retried SMSTSDownloadRetryCount times, SMSTSDownloadRetryDelay apart, then the next source
  is tried; clients pick among cloud sources at random, and a cut file resumes where it stopped.

  Background:
    Given the in-place upgrade task sequence PS100150 references these packages:
      | package  | name                     | type               | size   |
      | PS100151 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100151 | 40 minutes |

  @faults
  @behaviour:B-31 @behaviour:B-32 @behaviour:B-33 @behaviour:B-49
  Scenario Outline: When the CMG's content service fails, the client falls back to the cloud DP (<content>)
    Given a cloud distribution point created on site version 2010
    And the packages are distributed to the CMG and the cloud distribution point
    And the CMG's content service fails every request with 503
    And an internet client CLIENT31
    And the client tries the CMG first
    And the task sequence is deployed as Available with "<option>"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the client tries the CMG first, then the cloud distribution point
    And every package is downloaded from the cloud distribution point
    And the download of PS100151 from the CMG is tried <attempts> times, at least 15 seconds apart

    Examples:
      | content          | option                                                            | attempts |
      | downloaded first | Download all content locally before starting task sequence        | 1        |
      | on demand        | Download content locally when needed by the running task sequence | 3        |

  @faults
  @behaviour:B-31 @behaviour:B-32 @behaviour:B-33 @behaviour:B-49
  Scenario Outline: When every source fails, <what>
    Given a cloud distribution point created on site version 2010
    And the packages are distributed to the CMG and the cloud distribution point
    And the CMG's content service fails every request with 503
    And the cloud distribution point's content service fails every request with 503
    And an internet client CLIENT32
    And the task sequence is deployed as Available with "<option>"
    When the user installs the deployment from Software Center
    Then the task sequence <outcome>
    And the download of PS100151 from the CMG is tried <attempts> times, at least 15 seconds apart
    And the download of PS100151 from the cloud distribution point is tried <attempts> times, at least 15 seconds apart

    Examples:
      | what                                    | option                                                            | outcome                                                   | attempts |
      | the task sequence does not start        | Download all content locally before starting task sequence        | does not start and fails with 0x87D0027E                  | 1        |
      | the step that needs the content fails   | Download content locally when needed by the running task sequence | fails at step "Upgrade Operating System" with 0x801901F7 | 3        |

  @faults
  @behaviour:B-31 @behaviour:B-49
  Scenario: The retries are SMSTSDownloadRetryCount attempts more, SMSTSDownloadRetryDelay seconds apart
    Given the packages are distributed to the on-premises distribution point
    And the task sequence variable SMSTSDownloadRetryCount is 3
    And the task sequence variable SMSTSDownloadRetryDelay is 20
    And the on-premises distribution point fails every request for PS100151 with 503
    And an intranet client CLIENT33
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with 0x801901F7
    And the download of PS100151 from the on-premises distribution point is tried 4 times, at least 20 seconds apart
    And the client waits 20 seconds before each of the 3 retries of PS100151

  @faults
  @behaviour:B-31 @behaviour:B-39
  Scenario: With Continue on error a download that fails everywhere fails only its step
    Given the task sequence has these steps:
      | step                     | action                   | package  | duration   | continue on error |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |                   |
      | Upgrade Operating System | Upgrade Operating System | PS100151 | 40 minutes | yes               |
      | Collect logs             | Run Command Line         |          | 1 minute   |                   |
    And the packages are distributed to the CMG
    And the CMG's content service fails every request with 503
    And an internet client CLIENT34
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the step "Upgrade Operating System" fails with 0x801901F7
    And the step "Collect logs" runs
    And the task sequence completes with 0x00000000
    And the download of PS100151 from the CMG is tried 3 times, at least 15 seconds apart

  @faults
  @behaviour:B-34
  Scenario: A download the distribution point cut off resumes where it stopped
    Given the packages are distributed to the on-premises distribution point
    And the on-premises distribution point cuts the next download of PS100151 after 1 GB
    And an intranet client CLIENT35
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100151 from the on-premises distribution point is tried 2 times, at least 15 seconds apart
    And the second attempt at PS100151 asks the on-premises distribution point only for the rest of the file
    And the client's smsts.log says "Resuming download of sources/install.esd"

  @behaviour:B-20
  Scenario: Clients choose between two cloud sources at random
    Given a cloud distribution point created on site version 2010
    And the packages are distributed to the CMG and the cloud distribution point
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And 20 internet clients
    When each client installs the deployment from Software Center
    Then the CMG and the cloud distribution point each serve at least 25 % of the content requests

  @faults
  @behaviour:B-16 @behaviour:B-31
  Scenario: An internet client never falls back to an on-premises distribution point
    Given the packages are distributed to the CMG and the on-premises distribution point
    And the CMG's content service fails every request with 503
    And an internet client CLIENT36
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with 0x801901F7
    And the download of PS100151 from the CMG is tried 3 times, at least 15 seconds apart
    And the client never tries the on-premises distribution point

  @faults
  @behaviour:B-20 @behaviour:B-33
  Scenario: Content missing from the CMG's storage account is taken from the cloud DP
    Given a cloud distribution point created on site version 2010
    And the packages are distributed to the CMG and the cloud distribution point
    And the content is missing from the CMG's storage account
    And an internet client CLIENT31 whose random choices are seeded with 3
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the client tries the CMG first, then the cloud distribution point
    And every package is downloaded from the cloud distribution point
