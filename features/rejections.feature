@acceptance @rejection
Feature: Deployments and launches an internet client refuses
  Internet clients run only deployments that allow it, and only task sequences started from
  Software Center: Windows PE, PXE and task sequence media are not supported over the CMG.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100030 references these packages:
      | package  | name                     | type               | size   |
      | PS100031 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100031 | 40 minutes |
    And the packages are distributed to the CMG
    And an internet client CLIENT03

  @behaviour:B-50
  Scenario: A deployment without "Allow task sequence to run for client on the Internet" never starts
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence" but not allowed to run for clients on the internet
    When the user installs the deployment from Software Center
    Then the client refuses to start the task sequence because "Allow task sequence to run for client on the Internet" is not set
    And no content is downloaded

  @behaviour:B-51
  Scenario Outline: A task sequence started from <launch> over the CMG is refused
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the task sequence is started from <launch>
    Then the client refuses to start the task sequence because "not supported over a cloud management gateway"
    And no content is downloaded

    Examples:
      | launch               |
      | PXE                  |
      | task sequence media  |
      | Windows PE           |
