@acceptance @steps
Feature: Task sequence content in the cache, its hash, and download retries
  On-demand content lands in the task sequence cache, is hash-verified, and leaves when its step
  is done unless SMSTSPersistContent is set; a failed download is retried SMSTSDownloadRetryCount
  times, SMSTSDownloadRetryDelay seconds apart; at the end the cache goes and smsts.log is moved.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100070 references these packages:
      | package  | name                     | type               | size   |
      | PS100071 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100072 | Post-upgrade scripts     | Package            | 20 MB  |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100071 | 40 minutes |
      | Run post-upgrade scripts | Run Command Line         | PS100072 | 1 minute   |
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And an internet client CLIENT12

  @behaviour:B-24 @behaviour:B-27 @behaviour:B-29
  Scenario: On-demand content leaves the cache when its step is done, and the cache goes at the end
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the content of PS100071 is removed when the step "Upgrade Operating System" ends
    And the content of PS100072 is removed when the step "Run post-upgrade scripts" ends
    And the task sequence variable _SMSTSDownloadOnDemand is "true"
    And the task sequence variable _SMSTSPS100071 is "C:\_SMSTaskSequence\Packages\PS100071"
    And the task sequence cache is removed and smsts.log is in C:\Windows\CCM\Logs

  @behaviour:B-27
  Scenario: SMSTSPersistContent keeps on-demand content for the whole task sequence
    Given the task sequence variable SMSTSPersistContent is TRUE
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the content of PS100071 stays until the task sequence ends
    And the content of PS100072 stays until the task sequence ends

  @behaviour:B-25 @behaviour:B-28
  Scenario Outline: Content downloaded before the start <stays or goes> the client cache after the run
    Given the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    And the task sequence variable SMSTSPreserveContent is <preserve>
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the client cache holds <count> packages after the run

    Examples:
      | stays or goes | preserve | count |
      | stays in      | TRUE     | 2     |
      | leaves        | FALSE    | 0     |

  @behaviour:B-30 @behaviour:B-31
  Scenario Outline: A damaged copy fails the hash check after <retries> retries
    Given the task sequence variable SMSTSDownloadRetryCount is <retries>
    And the task sequence variable SMSTSDownloadRetryDelay is 30
    And the copy of PS100071 on the CMG is damaged
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with 0x80091007
    And the download of PS100071 from the CMG is tried <attempts> times, at least 30 seconds apart
    And the last content download location is the content service of the CMG

    Examples:
      | retries | attempts |
      | 0       | 1        |
      | 2       | 3        |

  @behaviour:B-30 @behaviour:B-31
  Scenario: By default a failed download is retried twice, 15 seconds apart
    Given the copy of PS100071 on the CMG is damaged
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with 0x80091007
    And the download of PS100071 from the CMG is tried 3 times, at least 15 seconds apart

  @faults
  @behaviour:B-45
  Scenario: A rejected content access token makes the client ask for locations again
    Given the CMG's content service refuses the next content request with 401
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the content locations for PS100071 are requested 2 times

  @faults
  @behaviour:B-45 @behaviour:B-49
  Scenario: A second rejection fails the step with the HTTP 401 code
    Given the CMG's content service refuses the next 2 content requests with 401
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with 0x80190191
    And the content locations for PS100071 are requested 2 times
