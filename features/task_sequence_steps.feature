@acceptance @steps
Feature: Groups, Continue on error and the failure group
  TSManager runs steps in order; a failing step fails its group and the task sequence unless
  Continue on error is set on the way, and a group runs only when its condition holds.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100050 references these packages:
      | package  | name                     | type               | size   |
      | PS100051 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100052 | Company Portal           | Application        | 80 MB  |
    And the packages are distributed to the CMG
    And an internet client CLIENT10

  @behaviour:B-39
  Scenario: A failing step with Continue on error lets the task sequence go on
    Given the task sequence has these steps:
      | step                     | action                   | package  | duration   | continue on error | exit code  |
      | Check Readiness          | Check Readiness          |          | 2 minutes  | yes               | 0x80004005 |
      | Upgrade Operating System | Upgrade Operating System | PS100051 | 40 minutes |                   |            |
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the step "Check Readiness" fails with 0x80004005
    And the step "Upgrade Operating System" runs
    And the task sequence completes with 0x00000000

  @behaviour:B-39 @behaviour:B-40
  Scenario Outline: The "Run Actions on Failure" group runs only after the upgrade failed
    Given the task sequence has these groups:
      | group                        | continue on error | condition                       |
      | Upgrade the Operating System | yes               |                                 |
      | Run Actions on Failure       |                   | _SMSTSLastActionSucceeded=false |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   | group                        | exit code |
      | Upgrade Operating System | Upgrade Operating System | PS100051 | 40 minutes | Upgrade the Operating System | <setup>   |
      | Collect logs             | Run Command Line         |          | 1 minute   | Run Actions on Failure       |           |
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the group "Run Actions on Failure" <runs>
    And the task sequence variable _SMSTSOSUpgradeActionReturnCode is "<return code>"

    Examples:
      | setup      | runs       | return code |
      | 0          | is skipped | 0           |
      | 0xC1900208 | runs       | 3247440392  |

  @behaviour:B-39
  Scenario: Without Continue on error a failing step ends the task sequence with its code
    Given the task sequence has these steps:
      | step                     | action                   | package  | duration   | exit code  |
      | Upgrade Operating System | Upgrade Operating System | PS100051 | 40 minutes | 0xC1900208 |
      | Post-processing          | Run Command Line         |          | 1 minute   |            |
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with 0xC1900208
    And the task sequence variable _SMSTSLastActionSucceeded is "false"
    And the task sequence variable _SMSTSLastActionRetCode is "-1047526904"

  @behaviour:B-04 @behaviour:B-41
  Scenario: Install Application content is downloaded by the client, even where the engine cannot use the CMG
    Given the site runs Configuration Manager version 1906
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   | continue on error |
      | Install Company Portal   | Install Application      | PS100052 | 2 minutes  |                   |
      | Upgrade Operating System | Upgrade Operating System | PS100051 | 40 minutes | yes               |
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the step "Install Company Portal" runs
    And every download of PS100052 is made by the client into its cache
    And the step "Upgrade Operating System" fails with 0x80040102
